"""tfcards: TensorFlow flashcards whose examples are proven against the installed TensorFlow."""

__version__ = "0.2.0"
