"""Community resource directory: Open Referral HSDS 3.0 store, import/export and taxonomy.

Plain SQLAlchemy 2.0; every public function takes a ``Session``. No Flask imports here, so the package can
be used from the CLI, background jobs and tests alike.
"""
