"""Runnable demos (each module defines ``space``, ``objective`` and ``settings``)."""

from __future__ import annotations
