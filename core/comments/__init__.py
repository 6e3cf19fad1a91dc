"""Comments on news posts and beatmapsets: posting, editing, deleting one's own, votes, and the
CommentBundle every comment route answers (ppy/osu-web app/Models/Comment.php,
app/Libraries/CommentBundle.php, app/Http/Controllers/CommentsController.php)."""
