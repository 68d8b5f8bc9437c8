"""The domain of the community micro-fund ledger: Beancount files, the Book, rules and services.

This package never imports Flask, SQLAlchemy or ReportLab: everything here runs and is tested with
nothing but a temporary folder.
"""
