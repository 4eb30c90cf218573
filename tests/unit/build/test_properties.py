"""Property tests: quoting round trips in the lexer; a literal pattern ignores exactly its path."""

from hypothesis import given
from hypothesis import strategies as st

from sampan.build.expand import Lexer
from sampan.build.ignore import IgnoreMatcher

plain = st.text(alphabet=st.characters(blacklist_characters="\\'\"$`", blacklist_categories=("Cs",)))
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))


@given(plain)
def test_text_without_specials_is_unchanged(text):
    assert Lexer().word(text, {"A": "x"}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="'", blacklist_categories=("Cs",))))
def test_single_quotes_keep_anything(text):
    assert Lexer().word(f"'{text}'", {"A": "x"}) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_escaping_every_char_gives_the_text_back(text):
    escaped = "".join("\\" + c for c in text)
    assert Lexer().word(escaped, {}) == text


@given(st.lists(names, min_size=1, max_size=4), st.lists(names, min_size=0, max_size=3))
def test_literal_pattern_ignores_the_path_and_below_only(parts, below):
    path = "/".join(parts)
    m = IgnoreMatcher.from_text(path.replace("[", "\\[").replace("*", "\\*").replace("?", "\\?"))
    assert m.ignored(path)
    assert m.ignored("/".join(parts + below))
    assert not m.ignored(path + "x")
