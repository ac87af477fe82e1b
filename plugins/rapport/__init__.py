"""Rapport: relationship-management scores for organizations on social media."""
