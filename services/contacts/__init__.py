"""The contacts/companies job family: CSV import (and export, VQL) of contacts and companies."""
