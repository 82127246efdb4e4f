"""The benchmark: what every stage costs against what a user would otherwise run. The
product never imports it."""
