"""ebonite-s3: the ``s3`` artifact repository for ebonite-core (boto3, any S3-compatible endpoint).

Importing this package does not import boto3: the backend class lives in :mod:`ebonite_s3.repository`.
"""

from __future__ import annotations

__version__ = "0.1.0"
