"""Pure figure builders: small DataFrames in, plotly Figures out. Never import reflex here."""
