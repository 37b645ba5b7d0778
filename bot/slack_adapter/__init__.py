"""The Slack adapter: a slack-bolt AsyncApp over the QuizService.

Setting it up is described under "Running on Slack" in the README.
"""
