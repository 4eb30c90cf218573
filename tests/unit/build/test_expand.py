"""Variable expansion against Docker's documented rules and BuildKit's lexer cases."""

import pytest

from sampan.build.expand import ExpandError, Lexer

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": "", "S": "x y"}

WORD_CASES = [
    # plain forms
    ("$PWD", "/home"), ("${PWD}", "/home"), ("he$PWD", "he/home"), ("he${PWD}x", "he/homex"),
    ("$PWDx", ""), ("${PWD}x", "/homex"), ("$KOREAN", "한국어"), ("$UNSET", ""), ("${UNSET}", ""),
    # quotes and escapes
    ("'hello $PWD'", "hello $PWD"), ('"hello $PWD"', "hello /home"), ("\\$PWD", "$PWD"),
    ('"\\$PWD"', "$PWD"), ("'\\$PWD'", "\\$PWD"), ('"a\\b"', "a\\b"), ("a\\ b", "a b"),
    ('"\\""', '"'), ("he'l'\"lo\"", "hello"), ("$", "$"), ("a$", "a$"), ("$1", ""), ("x\\", "x"),
    # :- and -
    ("${UNSET:-default}", "default"), ("${NULL:-default}", "default"), ("${PWD:-default}", "/home"),
    ("${UNSET-default}", "default"), ("${NULL-default}", ""), ("${UNSET:-$PWD}", "/home"),
    ('${UNSET:-"a b"}', "a b"), ("${UNSET:-'$PWD'}", "$PWD"), ("${UNSET:-}", ""),
    # :+ and +
    ("${PWD:+alt}", "alt"), ("${NULL:+alt}", ""), ("${UNSET:+alt}", ""), ("${NULL+alt}", "alt"),
    ("${UNSET+alt}", ""), ("${PWD:+${SHELL}}", "bash"),
    # ? forms that succeed
    ("${PWD:?msg}", "/home"), ("${NULL?msg}", ""),
    # pattern trimming and replacement (BuildKit)
    ("${PWD#/}", "home"), ("${PWD%e}", "/hom"), ("${S##* }", "y"), ("${S%% *}", "x"),
    ("${PWD/o/0}", "/h0me"), ("${S// /_}", "x_y"),
]


@pytest.mark.parametrize("text,expected", WORD_CASES)
def test_word(text, expected):
    assert Lexer().word(text, ENV) == expected


@pytest.mark.parametrize("text", [
    "${UNSET:?must be set}", "${NULL:?}", "${UNSET?}", "${PWD=x}", "${PWD", "${}", "'open", '"open',
    "${UNSET:-x", "${PWD//x}",
])
def test_word_errors(text):
    with pytest.raises(ExpandError):
        Lexer().word(text, ENV)


def test_question_mark_message_is_the_word():
    with pytest.raises(ExpandError, match="UNSET: please set it"):
        Lexer().word("${UNSET:?please set it}", ENV)


def test_words_split_on_unquoted_space_and_unquoted_vars():
    assert Lexer().words('a "b c" $S "" z${S}', ENV) == ["a", "b c", "x", "y", "", "zx", "y"]
    assert Lexer().words('"$S"', ENV) == ["x y"]


def test_backtick_escape_directive():
    lex = Lexer("`")
    assert lex.word("`$PWD", ENV) == "$PWD"
    assert lex.word("C:\\path", ENV) == "C:\\path"  # backslash is an ordinary char then


def test_used_names_are_reported_for_cache_keys():
    result = Lexer().expand("${A:-x} $B '$C'", {"A": "1"})
    assert result.used == {"A", "B"}


def test_heredoc_expansion_keeps_quotes():
    exp = Lexer().heredoc("echo \"$PWD\" '$SHELL' \\$X\n", ENV)
    assert exp.words[0] == "echo \"/home\" 'bash' $X\n"


