"""Custom actions (rasa-sdk). Thin: tracker state → a knowledge query → messages."""
