"""Small pure UI functions (no state of their own)."""
