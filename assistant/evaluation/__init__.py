"""The evaluation harness: metrics, judges, the run and its report. The product never
imports it."""
