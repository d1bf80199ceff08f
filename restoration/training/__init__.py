"""Training of the restoration networks, free of Django and not loaded by workers.

The tape damage simulator (degrade), the training scenes (synth), losses, the training loop of
the restoration network (train) and of the artifact scorer (scorer_training), and their command
line subcommands. It imports the engine; the engine never imports it.
"""
