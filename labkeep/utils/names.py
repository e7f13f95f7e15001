"""Readable generated run names: ``<adjective>-<noun>-<n>``."""

import random

_ADJECTIVES = (
    "able amber bold brave bright calm clever crisp curious daring eager fancy fast fearless gentle "
    "glowing grand happy honest jolly keen kind lively loud lucky merry mighty modest neat nimble noble "
    "polite proud quick quiet rare rapid sharp shy silent sleek smart smooth snappy solid spry stately "
    "steady sunny swift tidy tough upbeat vivid warm wise witty zesty"
).split()
_NOUNS = (
    "ant badger bass bat bear bee bird bison boar carp cat cod colt crab crane crow deer doe dove duck "
    "eagle eel elk falcon fawn finch fish fly fox frog gnat goat goose hare hawk hen heron horse hound "
    "jay koala lamb lark lion lynx mole moose moth mouse mule newt owl ox panda pig pike quail ram rat "
    "robin seal shark sheep shrew skink sloth slug snail snake squid stork swan tern toad trout wasp whale "
    "wolf worm wren yak zebra"
).split()


def generate_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
