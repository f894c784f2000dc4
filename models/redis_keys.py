"""Every Redis key the product uses, built in one place, namespaced, each with a TTL.

Redis is our second store (sessions, rate limits, the WeChat access token, locks,
streams), so its key names live beside the tables. Nothing else formats a key.
"""

from __future__ import annotations

from dataclasses import dataclass

# TTLs in seconds. Sessions slide: the TTL is renewed on every request.
STAFF_SESSION_TTL = 30 * 60
WECHAT_SESSION_TTL = 7 * 24 * 3600
ACCESS_TOKEN_LOCK_TTL = 15
CALLBACK_NONCE_TTL = 600
CATALOGUE_VERSION_TTL = 30 * 24 * 3600
#: Longer than any process keeps a cached profile (services.policies.service.PROFILE_MAX_AGE),
#: so a version can never expire while a copy loaded under the previous one is still used.
PROFILE_VERSION_TTL = 30 * 24 * 3600
RATE_WINDOW_TTL = 120
SCHEDULER_LOCK_TTL = 300
#: The outbox stream only carries ids of rows the database keeps; if it expires or is
#: flushed the sweeper re-offers the rows, so a week of idleness may drop it.
OUTBOX_STREAM_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Keys:
    prefix: str = "sz"

    def _k(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def session(self, token_digest: str) -> str:
        return self._k("session", token_digest)

    def user_sessions(self, user_id: int) -> str:
        """Set of a user's session digests, so a role change or lock revokes them all."""
        return self._k("user-sessions", user_id)

    def access_token(self, appid: str) -> str:
        return self._k("wechat", "access-token", appid)

    def access_token_lock(self, appid: str) -> str:
        return self._k("wechat", "access-token-lock", appid)

    def callback_nonce(self, nonce: str) -> str:
        return self._k("wechat", "nonce", nonce)

    def catalogue_version(self) -> str:
        return self._k("catalogue", "version")

    def deadline_rules_version(self) -> str:
        """Bumped on every write of a deadline rule (per-process copy of the rules)."""
        return self._k("deadline-rules", "version")

    def policy_version(self) -> str:
        """Bumped whenever the set of published policies changes (per-process feed cache)."""
        return self._k("policies", "version")

    def enterprise_profile_version(self, enterprise_id: int) -> str:
        """A fresh random value on every write of the enterprise's profile or tags (per-process
        profile cache of the feed); absent until the first write."""
        return self._k("enterprise", enterprise_id, "profile-version")

    def enterprise_profile_version_affixes(self) -> tuple[str, str]:
        """(head, tail) with ``head + str(id) + tail == enterprise_profile_version(id)``: the
        session lookup script builds the key of the caller's enterprise from its session,
        so the feed's version check rides on the session's round trip."""
        head, _, tail = self.enterprise_profile_version(0).rpartition(":0:")
        return head + ":", ":" + tail

    def rate(self, bucket: str, subject: str) -> str:
        return self._k("rate", bucket, subject)

    def rate_affixes(self, bucket: str, window: str) -> tuple[str, str]:
        """(head, tail) with ``head + str(user id) + tail == rate(bucket, f"{user id}:{window}")``:
        the session lookup script counts a request in the caller's window (see
        ``services.auth.sessions``), knowing the user only once it has read the session."""
        head, _, tail = self.rate(bucket, f"0:{window}").rpartition(":0:")
        return head + ":", ":" + tail

    def scheduler_lock(self, job: str) -> str:
        return self._k("scheduler", job)

    def outbox_stream(self) -> str:
        """Redis Stream of delivery-id batches, read by the workers' consumer group."""
        return self._k("outbox", "stream")

    def outbox_sweep_lock(self) -> str:
        """Elects one sweeper per interval across all workers (PX = the interval)."""
        return self._k("outbox", "sweep-lock")

    def send_bucket(self, name: str) -> str:
        """Token bucket of the deployment-wide WeChat send rate (TTL set by the script)."""
        return self._k("outbox", "bucket", name)

    def pattern(self) -> str:
        return self._k("*")
