# Polish: "4 grudnia 2026" (E: the month in the genitive, as a date is read), and
# "04.12.2026, 17:00" for short dates. No weekday names or month abbreviations: Django
# writes them capitalised ("Piątek", "Gru"), which Polish does not do mid-sentence.
DATE_FORMAT = "j E Y"
DATETIME_FORMAT = "j E Y, H:i"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y, H:i"
MONTH_DAY_FORMAT = "d.m"
WEEKDAY_DATETIME_FORMAT = "j E Y, H:i"
WEEKDAY_DATE_FORMAT = "j E Y"
EXACT_DATETIME_FORMAT = "d.m.Y, H:i:s"
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\u00a0"
NUMBER_GROUPING = 3
