"""Mendian (门店): a multi-store O2O mall for chain retailers."""

__version__ = "0.1.0"
