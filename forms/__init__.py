"""WTForms forms: the few fixed ones, and later the ones built from workflow steps."""
