"""Moderation: sanctions, score removal, identity (rename, groups), recognition (badges,
supporter), the reports queue, and the audit log every one of them writes to."""
