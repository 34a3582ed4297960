"""Views of the main window: pure widgets that talk to the controller."""
