# tests/ — shared test settings.  Test programs live in the fragments below.
AM_TESTS_ENVIRONMENT = LAMINA_FIXTURES='$(abs_top_srcdir)/tests/fixtures'; export LAMINA_FIXTURES;
