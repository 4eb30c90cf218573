"""Random container names in Docker's style: adjective_surname."""

from __future__ import annotations

_ADJECTIVES = (
    "agile brave calm clever cosy crisp daring eager fancy gentle happy hardy humble jolly keen "
    "kind lively lucid merry mighty modest nimble patient plucky quiet rapid serene sharp shiny "
    "silent smooth snappy steady sturdy sunny swift tidy vivid witty zealous bold bright curious"
).split()

# Pioneers of computing and of the sciences that made it.
_NAMES = (
    "lovelace babbage turing hopper shannon neumann ritchie thompson kernighan torvalds knuth "
    "dijkstra hamilton liskov lamport hoare backus mccarthy perlman cerf kahn berners noether "
    "curie franklin goodall meitner lamarr germain somerville johnson vaughan jackson allen "
    "engelbart wozniak sammet wing goldwasser tarjan hellman diffie rivest shamir adleman"
).split()


def random_name(taken: set[str], rng=None) -> str:
    import random
    rng = rng or random.SystemRandom()
    for attempt in range(100):
        name = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NAMES)}"
        if attempt > 10:
            name += str(rng.randint(0, 99))
        if name not in taken:
            return name
    return f"container_{rng.getrandbits(48):012x}"
