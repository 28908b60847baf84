"""Schemathesis hooks of `cargo xtask schemathesis`.

One profile rule has no JSON Schema keyword: a `video_id` appears at most once within
`liked_videos` and within `shared_videos` (the document says so in words). Generated
bodies that repeat a valid id are dropped, so that a schema-valid request is a valid one.
"""

import schemathesis


def _repeats_a_video_id(videos):
    if not isinstance(videos, list):
        return False
    seen = set()
    for video in videos:
        video_id = video.get("video_id") if isinstance(video, dict) else None
        if isinstance(video_id, str):
            if video_id in seen:
                return True
            seen.add(video_id)
    return False


@schemathesis.hook
def filter_body(context, body):
    if not isinstance(body, dict):
        return True
    return not any(_repeats_a_video_id(body.get(key)) for key in ("liked_videos", "shared_videos"))
