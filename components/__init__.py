"""Custom Rasa NLU components, plugged into config.yml by module path."""
