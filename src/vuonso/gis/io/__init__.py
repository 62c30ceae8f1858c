"""Reading plot files: formats, features with their attributes, and attribute-to-field mapping."""
