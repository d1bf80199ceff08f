"""What analog tape does to a picture, simulated (``degrade.py``): seeded, deterministic, on
NumPy frames. Used to train and measure the networks (``restoration/training``, the bench),
by the ``degrade`` command, and to wear the portal's demo clip. Free of Django and of training:
it imports only the engine (for the names of the effects the scorer learns)."""
