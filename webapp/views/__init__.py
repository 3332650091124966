"""Page blueprints, one small module each."""
