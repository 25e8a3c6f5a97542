// Package bot is Hotline's domain: alerts, incidents and their timeline, the
// ports the domain needs from the world (Store, Chat, Phone, Mailer, Clock)
// and the Bot service that turns alerts into incidents and applies commands.
package bot
