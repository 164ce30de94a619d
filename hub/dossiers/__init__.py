"""Dossiers: their status (TrangThaiHoSo), its legal transitions, and the hub's record of them."""
