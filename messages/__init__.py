"""The message center (消息中心): notices to one member — reminders from their organizer and automatic messages
(a required course assigned, a due date near, a class application decided, a certificate issued). Other packages
send through ``messages.services.notify``; this package imports only ``core`` and ``accounts``."""
