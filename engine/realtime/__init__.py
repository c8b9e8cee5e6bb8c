"""Playing a model live: the real-time host behind `ampemu run`.

- channel.py: the shared arrays between Python threads and the callback (control, stats, MIDI ring)
  and the descriptor that points at them and at the models;
- native.py: raw pointers, a fence and a clock for compiled code;
- block.py: what every backend's callback does with one block (compiled, allocation-free);
- jack_callback.py: the JACK process callback, a numba @cfunc; jack_host.py: the JACK client around it;
- sounddevice_host.py: the PortAudio fallback; memory.py: locking the process's memory.
"""
