"""The Slack adapter: a slack-bolt AsyncApp over the QuizService (see docs/slack.md)."""
