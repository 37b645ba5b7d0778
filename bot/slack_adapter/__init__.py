"""The Slack adapter: a slack-bolt AsyncApp over the QuizService (see "Running on Slack" in the README)."""
