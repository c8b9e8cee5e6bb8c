"""Footswitches on the Pi's GPIO: gpiozero Buttons (lgpio pin factory: RPi.GPIO does not work on a Pi 5).

Each switch connects its pin to ground; the internal pull-up holds the pin high otherwise. A press
runs the bank's `press` action; a switch with a `long_press` action runs that one instead once held
for `long_press_ms` (and the short action on release when it was not held). gpiozero's threads call
us; we only post commands to the control channel, which the audio callback applies at its next block.

Debounce is ours, not gpiozero's `bounce_time` (its mock pins ignore it, so tests could not see it):
an edge within DEBOUNCE_S of the last accepted one is contact bounce and is ignored.
"""

from __future__ import annotations

import threading
import time

from engine.presets.bank import Footswitch
from engine.realtime import channel as ch

DEBOUNCE_S = 0.02  # mechanical footswitches bounce for a few milliseconds
OPS = {"next": ch.OP_NEXT, "previous": ch.OP_PREVIOUS, "bypass": ch.OP_BYPASS_TOGGLE}


class _Switch:
    """One button's press / long-press logic with software debounce."""

    def __init__(self, spec: Footswitch, button, post, clock):
        self.spec, self.button, self.post, self.clock = spec, button, post, clock
        self.lock = threading.Lock()  # gpiozero calls press/release and hold from different threads
        self.pressed, self.held, self.last_edge = False, False, -1.0
        button.when_pressed = self._on_press
        button.when_released = self._on_release
        if spec.long_press:
            button.when_held = self._on_held

    def _on_press(self) -> None:
        with self.lock:
            now = self.clock()
            if now - self.last_edge < DEBOUNCE_S:
                return  # bounce
            self.pressed, self.held, self.last_edge = True, False, now
        if not self.spec.long_press:  # nothing to wait for: act at once
            self.post(OPS[self.spec.press])

    def _on_release(self) -> None:
        with self.lock:
            now = self.clock()
            if not self.pressed or now - self.last_edge < DEBOUNCE_S:
                return  # bounce (or a release we never saw pressed)
            self.pressed, self.last_edge = False, now
            short = self.spec.long_press and not self.held
        if short:
            self.post(OPS[self.spec.press])

    def _on_held(self) -> None:
        with self.lock:
            if not self.pressed or self.held:
                return
            self.held = True
        self.post(OPS[self.spec.long_press])


class Footswitches:
    """The bank's footswitches, posting to `channel`; `pin_factory` None means lgpio (the Pi 5)."""

    def __init__(self, specs: list[Footswitch], channel: ch.Channel, pin_factory=None, clock=time.monotonic):
        from gpiozero import Button

        if pin_factory is None:
            from gpiozero.pins.lgpio import LGPIOFactory

            pin_factory = LGPIOFactory()
        self.buttons = []
        self.switches = []
        try:
            for spec in specs:
                button = Button(spec.pin, pull_up=True, bounce_time=None, hold_time=spec.long_press_ms / 1000,
                                pin_factory=pin_factory)
                self.buttons.append(button)
                self.switches.append(_Switch(spec, button, lambda op: channel.post(op), clock))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for button in self.buttons:
            button.close()
        self.buttons = []


def start_footswitches(specs: list[Footswitch], channel: ch.Channel, say=print) -> Footswitches | None:
    """The footswitches, or None with one line saying why (a desktop has no GPIO: play on without)."""
    if not specs:
        return None
    try:
        switches = Footswitches(specs, channel)
    except Exception as exc:  # ImportError (no gpiozero/lgpio), no GPIO chip, pin busy: all non-fatal
        say(f"footswitches off ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'no GPIO'}); "
            "MIDI and the rest work as usual")
        return None
    say(f"footswitches on GPIO {', '.join(str(s.pin) for s in specs)}")
    return switches
