"""The Discord adapter: `/quiz` app commands, answer buttons and modals, embeds.

`bot.create_bot` builds the client, `runner.run_discord` runs it, `invite` prints the
install URL. Everything goes through the same QuizService as the other adapters.
"""
