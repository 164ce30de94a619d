"""Province reports: figures from the dossier store, without personal data."""
