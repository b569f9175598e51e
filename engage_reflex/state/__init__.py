"""Thin rx.State subclasses, one per page or feature: parse input, call one service, assign vars."""
