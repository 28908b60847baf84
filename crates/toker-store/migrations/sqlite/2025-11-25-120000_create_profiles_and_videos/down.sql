DROP TABLE profile_videos;
DROP TABLE video_tags;
DROP TABLE videos;
DROP TABLE profiles;
