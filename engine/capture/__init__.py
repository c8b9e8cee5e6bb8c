"""Capture on the pedal: the capture signal, the JACK recorder, the rig's calibration and the take's checks."""
