"""Dates and numbers as each language writes them (``FORMAT_MODULE_PATH``).

Templates and code use the format *names* (``|date:"DATE_FORMAT"``), never a pattern,
so each language says how its dates read: Polish needs the month in the genitive
("4 grudnia 2026", Django's ``E``), where English has "4 December 2026".
"""
