// Package commands is the chat command language of Hotline, the same on every
// platform: it parses the text after "/incident" into a typed Command, renders
// the help, checks who may run it (Authorizer), and runs a command against
// the bot, answering with a short reply that a Slack or Discord adapter posts
// as it is.
package commands
