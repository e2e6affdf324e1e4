"""Turning detections into counts and answers."""
