DROP TABLE rate_windows;
DROP TABLE platform_budgets;
