"""Recognition: the engines, the transcribers that drive them and how they share the CPU."""
