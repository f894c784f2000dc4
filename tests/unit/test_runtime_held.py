"""``Runtime.held``: one object per key for the runtime's life, made only when missing."""

from models.redis_keys import Keys
from services.runtime import Runtime


def test_held_makes_the_object_once_and_returns_it_after():
    rt = Runtime(settings=None, redis=None, keys=Keys("t"), cipher=None)
    made = []

    def make() -> list:
        made.append(1)
        return []

    first = rt.held("thing", make)
    assert rt.held("thing", make) is first and rt.extras["thing"] is first
    assert made == [1]
    assert rt.held("other", make) is not first and made == [1, 1]
