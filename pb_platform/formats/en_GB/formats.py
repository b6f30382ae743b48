# British English: "4 December 2026", "4 December 2026, 17:00", "4 Dec 2026, 17:00".
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j M"
# With the weekday, for deadlines: "Friday 4 December 2026, 17:00" (see pb_platform.dates).
WEEKDAY_DATETIME_FORMAT = "l j F Y, H:i"
WEEKDAY_DATE_FORMAT = "D j F Y"
EXACT_DATETIME_FORMAT = "j M Y, H:i:s"
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
