"""The pre-recorded room: uploads, jobs over whole files, their add-ons and speakers."""
