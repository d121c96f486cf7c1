"""The one place that talks to durable_rules.

Facts about durable_rules 2.0.28 that shape this module:

* It keeps each session's state in C memory and fails with `MemoryError` at the
  1,025th live session of a ruleset (and stays broken), so every evaluation uses a
  fresh session id and deletes its state in `finally`.
* It never releases the GIL and its host is not thread-safe: one lock serialises calls.
* `Host.set_rulesets` mutates the dict it is given (it pops each rule's `run`), and a
  ruleset name cannot be registered twice, so names carry the ruleset hash and period
  and each registration gets a fresh copy.
* Exceptions inside actions are swallowed into the session state, so actions only
  append the rule name to a list; everything else happens outside.
* Ruleset handles live in the C library's global state: two hosts registering the same
  ruleset name crashed the process (segmentation fault) here, so there is one runner per
  process (`runner()`), shared by every `Engine`.
* `Host()` starts timer threads that poll every ruleset; we use no timers or queues,
  so `_QuietHost` does not start them.
* `Host.assert_fact` runs each fired action through a `Closure`, re-encodes the whole
  session state as JSON after every action (`update_state`) and decodes every action
  message: about a third of a decision's time on an item with several failing checks.
  Our actions only record the rule's name and change no state, so `fire` drives the
  same C calls as `Ruleset.do_actions` (assert, start the first action, complete and
  start the next) and reads the rule's name off each message, without the rest. The
  module's own tests hold it to the Host's answers.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import durable_rules_engine as native
import orjson
from durable import engine as durable_engine

#: The `id` of every fact `fire` asserts. Compiled rulesets match on it (the `handled`
#: rule, engine/compile.py), and it and `sid` are reserved fact names.
FACT_ID = "facts"
ASSERTED_KEYS = frozenset({"sid", "id"})


def _asserted(facts: dict[str, Any], sid: str) -> dict[str, Any]:
    """The fact as asserted: the decision's facts in session `sid`."""
    return {**facts, "sid": sid, "id": FACT_ID}


def _message(fact: dict[str, Any]) -> str:
    """The fact as the JSON text durable_rules parses. orjson writes text, integers,
    booleans and null as `json` does (less whitespace) at a fraction of the cost; a
    fact holding a float, or anything orjson refuses (integers past 64 bits), goes
    through `json`, whose number text durable_rules has always been given."""
    if not any(type(value) is float for value in fact.values()):
        try:
            return orjson.dumps(fact).decode()
        except TypeError:
            pass
    return json.dumps(fact, ensure_ascii=False)


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    def _run(self) -> None:
        """No background dispatch: facts are asserted synchronously and nothing is queued."""


class DurableRunner:
    def __init__(self) -> None:
        self._host = _QuietHost()
        self._lock = threading.Lock()
        self._registered: set[str] = set()
        # ruleset name -> (C handle, its rule names): what `fire` needs per call
        self._native: dict[str, tuple[int, frozenset[str]]] = {}
        self._fired: dict[str, list[str]] = {}
        self._sids = itertools.count(1)

    def _action(self, rule: str) -> Callable[[Any], None]:
        fired = self._fired

        def record(c: Any) -> None:
            fired[c.m["sid"]].append(rule)

        return record

    def ensure(self, name: str, definition: dict[str, dict[str, Any]]) -> None:
        if name in self._registered:
            return
        with self._lock:
            if name in self._registered:
                return
            rules = copy.deepcopy(definition)
            for rule_name, rule in rules.items():
                rule["run"] = self._action(rule_name)
            self._host.set_rulesets({name: rules})
            self._native[name] = (self._host.get_ruleset(name)._handle, frozenset(rules))
            self._registered.add(name)

    def fire(self, name: str, facts: dict[str, Any]) -> list[str]:
        """Assert one fact in a fresh session; return the names of the rules that fired."""
        with self._lock:
            handle, rules = self._native[name]
            sid = str(next(self._sids))
            message = _message(_asserted(facts, sid))
            try:
                code, state = native.assert_fact(handle, message)
                if code == 1:  # not handled: no rule matched, so nothing fired
                    return []
                if code == 2:  # observed before: impossible in a fresh session
                    raise durable_engine.MessageObservedException(facts)
                state = 0 if code == 3 else state
                fired: list[str] = []
                started = native.start_action_for_state(handle, state)
                action = started[1] if started else None
                while action:
                    fired.append(_rule_of(action, rules))
                    action = native.complete_and_start_action(handle, state)
                return fired
            finally:
                native.delete_state(handle, sid)

    def fire_through_host(self, name: str, facts: dict[str, Any]) -> list[str]:
        """`fire` through durable_rules' public API (`Host.assert_fact`, each action run
        in a `Closure`), as code written against durable_rules would. The benchmark's
        hand-written peer uses this; tests hold `fire` to the same answers."""
        with self._lock:
            sid = str(next(self._sids))
            self._fired[sid] = []
            try:
                # MessageNotHandledException: no rule matched, so nothing fired.
                with contextlib.suppress(durable_engine.MessageNotHandledException):
                    self._host.assert_fact(name, _asserted(facts, sid))
                return self._fired[sid]
            finally:
                del self._fired[sid]
                self._host.delete_state(name, sid)


def _rule_of(action: str, rules: frozenset[str]) -> str:
    """The rule an action message is for: its one key, `{"<rule>": {...}}`.

    Our rule names need no JSON escaping, so the key is read off the text; anything
    else is decoded properly.
    """
    end = action.find('"', 2)
    rule = action[2:end]
    if action.startswith('{"') and rule in rules:
        return rule
    decoded: dict[str, Any] = json.loads(action)
    return next(iter(decoded))


_RUNNER: DurableRunner | None = None
_RUNNER_LOCK = threading.Lock()


def runner() -> DurableRunner:
    """The process-wide runner (see the module notes for why there is only one)."""
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            _RUNNER = DurableRunner()
        return _RUNNER
