"""Question banks, quizzes and exams, attempts, grading, bank import/export and analytics."""
