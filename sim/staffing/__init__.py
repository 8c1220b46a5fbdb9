"""Staffing: the fewest doctor-hours on duty that meet the service standards, verified."""

from sim.staffing.api import StaffingError, StaffingResult, staff

__all__ = ["StaffingError", "StaffingResult", "staff"]
